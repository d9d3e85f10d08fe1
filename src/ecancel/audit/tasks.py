"""Periodic upkeep of the audit chain."""

from celery import shared_task

from ecancel.audit.services import audit_chain_extend


@shared_task(name="ecancel.audit.chain_extend")
def chain_extend() -> int:
    """Chain rows whose writer died between its commit and chaining them."""
    return audit_chain_extend()
