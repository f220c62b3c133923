"""The platform CA and trust roots for agreements signed online, and `flask pki` / `flask
agreements` commands.

The CA's key and certificate are files in VBP_PKI_PATH (default: instance/pki), never rows:
`flask pki init` creates them; development and tests create them on first use. Production
refuses to invent one (an empty CA folder there means `flask pki init` was not run).
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.config import _development_secret as development_secret
from app.db import get_db, unit_of_work
from core import clock, pki
from core.actors import Actor
from core.errors import DomainError
from reports import agreement_signing

pki_cli = AppGroup("pki", help="平台CA与签名证书 (platform CA and signing certificates)")
agreements_cli = AppGroup("agreements", help="购销协议 (procurement agreements)")
CA_NAME = "VBP 集中带量采购平台 CA"


def _password() -> bytes:
    config = current_app.config["VBP"]
    if not config.pki_key_password and not config.production:
        config.pki_key_password = development_secret(Path(current_app.instance_path) / "pki_key_password")
    if not config.pki_key_password:
        raise pki.PkiMissing("VBP_PKI_KEY_PASSWORD 未设置 (not set): required to sign agreements")
    return str(config.pki_key_password).encode()


def _folder() -> Path:
    return Path(current_app.config["VBP"].pki_path)


def init_ca() -> tuple[pki.PlatformCA, bool]:
    """The platform CA, created now if the folder has none: (ca, created)."""
    try:
        return pki.load_ca(_folder(), _password()), False
    except pki.PkiMissing:
        ca = pki.create_ca(name=CA_NAME, now=clock.now())
        try:
            pki.save_ca(ca, _folder(), _password())
        except FileExistsError:  # another process made it first: use that one
            return pki.load_ca(_folder(), _password()), False
        return ca, True


def platform_ca() -> pki.PlatformCA:
    ca = current_app.extensions.get("vbp.platform_ca")
    if ca is None:
        if current_app.config["VBP"].production:
            ca = pki.load_ca(_folder(), _password())
        else:
            ca, _ = init_ca()
        current_app.extensions["vbp.platform_ca"] = ca
    return ca


def trust_roots() -> tuple[pki.x509.Certificate, ...]:
    """The platform CA's certificate and those of VBP_PKI_TRUST_ROOTS. Verifying needs no key:
    only the CA's certificate file is read (outside production the CA is made on first use)."""
    config = current_app.config["VBP"]
    if not config.production:
        platform_ca()
    cert_file = _folder() / pki.CA_CERT_FILE
    own = pki.load_pem_certs(cert_file.read_bytes()) if cert_file.is_file() else []
    more = pki.load_pem_certs(Path(config.pki_trust_roots).read_bytes()) if config.pki_trust_roots else []
    return (*own, *more)


def signing_keys() -> agreement_signing.Pki:
    """What signing needs: the CA (issues an organization's demo certificate on its first
    signature), the trust roots (imported certificates must chain to one), the key password."""
    return agreement_signing.Pki(ca=platform_ca(), roots=trust_roots(), key_password=_password())


@pki_cli.command("init")
@with_appcontext
def init_command() -> None:
    """Create the platform CA (key encrypted with VBP_PKI_KEY_PASSWORD) in VBP_PKI_PATH."""
    ca, created = init_ca()
    state = "已创建 (created)" if created else "已存在，未改动 (exists, unchanged)"
    click.echo(f"平台CA {state}: {_folder()}  SHA-256 {pki.fingerprint(ca.cert)}")


@agreements_cli.command("generate")
@with_appcontext
@click.argument("batch_id", type=int)
def generate_command(batch_id: int) -> None:
    """Generate the agreements of BATCH_ID from its final allocations (running it again adds none)."""
    try:
        with unit_of_work(get_db().sessionmaker()) as session:
            created = agreement_signing.generate(session, Actor.system(), batch_id, now=clock.now())
            count = len(created)
    except DomainError as exc:
        raise click.ClickException(f"{exc.message} [{exc.code}]") from exc
    click.echo(f"批次 {batch_id}：新生成购销协议 {count} 份 (agreements generated)")


def init_app(app: Flask) -> None:
    app.cli.add_command(pki_cli)
    app.cli.add_command(agreements_cli)
