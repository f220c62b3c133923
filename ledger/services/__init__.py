"""Write-side services of the ledger (flush only; the shell commits)."""
