"""The task-queue worker (Celery, RabbitMQ as broker):

    VBP_BROKER_URL=amqp://guest:guest@127.0.0.1:5672// celery -A app.worker worker -Q vbp

Why these settings: a message is acknowledged only after its task returned (acks_late) and is
given back to the queue when the worker process dies (reject_on_worker_lost); RabbitMQ redelivers
an unacknowledged message as soon as the dead worker's connection closes (Redis would wait for its
visibility timeout, an hour by default). Each worker process holds one message at a time
(prefetch 1), so a long job's units spread over every worker. No result backend: a job's state
lives in the database (core/background.py), and a redelivered unit already committed is skipped.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from celery import Celery, Task
from flask import Flask

SETTINGS: dict[str, Any] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "task_ignore_result": True,
    "broker_connection_retry_on_startup": True,
    "worker_hijack_root_logger": False,
}


def make_celery(broker_url: str | None, queue: str) -> Celery:
    app = Celery("vbp", broker=broker_url, set_as_current=False)
    app.conf.update(SETTINGS, task_default_queue=queue)
    return app


@functools.cache
def producer(broker_url: str) -> Celery:
    """The web's and the scheduler's sending side (one per process and broker)."""
    return make_celery(broker_url, "vbp")


#: The worker's Celery app (read by `celery -A app.worker`): broker and queue from the environment.
celery = make_celery(os.environ.get("VBP_BROKER_URL"), os.environ.get("VBP_TASK_QUEUE") or "vbp")


@functools.cache
def flask_app() -> Flask:
    """The platform's app for its configuration and database, built once per worker process
    (after the fork: no engine crosses it)."""
    from app import create_app

    return create_app()


def _redelivered(task: Task) -> bool:
    return bool((task.request.delivery_info or {}).get("redelivered"))


@celery.task(name="vbp.start_job", bind=True)
def start_job(self: Task, job_id: int) -> None:
    """Plan the job and send one message per batch of units to this worker's queue."""
    from app.background import UNITS_TASK, runner

    app = flask_app()
    batches = runner(app).start(job_id, again=_redelivered(self))
    queue = app.config["VBP"].task_queue
    for batch in batches:
        celery.send_task(UNITS_TASK, args=[job_id, batch], queue=queue)


@celery.task(name="vbp.run_units", bind=True)
def run_units(self: Task, job_id: int, unit_keys: list[str]) -> None:
    """Carry out a batch of a job's units (those not yet committed)."""
    from app.background import runner

    work = runner(flask_app())
    if _redelivered(self):
        work.retake(job_id)
    work.run_batch(job_id, unit_keys)
