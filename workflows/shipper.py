"""ActivityShipperWorkflow: one long-running run per destination drains the activity log.

The position lives in the database (advanced in the same transaction as each batch's outcomes),
so a restart, a retry or a continue-as-new never skips a record. The worker sends changed
settings (``reconfigure``: batch size, poll interval) and ``stop`` (the destination is no longer
configured); both take effect at the next round.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.shipping import ShippingActivities
    from cadence.domain.contracts import (
        MARKETO_QUEUE,
        SALESFORCE_QUEUE,
        ShipBatchInput,
        ShipBatchResult,
        ShipperInput,
        ShipperSettings,
    )

SHIP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=["NotConfigured"],
)
PAUSE_AFTER_FAILURE = timedelta(minutes=1)
# Guards the reconfigure and stop handlers: a signal that a worker of the code before them
# got (and ignored) is ignored again when the history is replayed.
SETTINGS_SIGNALS_PATCH = "settings-signals"


def shipper_workflow_id(destination: str) -> str:
    return f"shipper/{destination}"


@workflow.defn
class ActivityShipperWorkflow:
    def __init__(self) -> None:
        self.woken = False
        self.last: ShipBatchResult | None = None
        self.last_error: str | None = None
        self.new_settings: ShipperSettings | None = None
        self.stopping = False
        self.inp: ShipperInput | None = None

    @workflow.run
    async def run(self, inp: ShipperInput) -> None:
        ship = (
            ShippingActivities.ship_to_marketo
            if inp.destination == "marketo"
            else ShippingActivities.ship_to_salesforce
        )
        queue = MARKETO_QUEUE if inp.destination == "marketo" else SALESFORCE_QUEUE
        while True:
            if self.stopping:
                workflow.logger.info("shipper for %s stops: no longer configured", inp.destination)
                return
            if self.new_settings is not None:
                inp = inp.model_copy(update=self.new_settings.model_dump())
                self.new_settings = None
            self.inp = inp
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(inp)
            pause = timedelta(seconds=inp.poll_seconds)
            try:
                self.last = await workflow.execute_activity_method(
                    ship,
                    ShipBatchInput(destination=inp.destination, limit=inp.batch_size),
                    task_queue=queue,
                    start_to_close_timeout=timedelta(minutes=3),
                    retry_policy=SHIP_RETRY,
                )
                self.last_error = None
                if self.last.examined >= inp.batch_size:
                    continue  # more is waiting: drain without pausing
            except ActivityError as err:
                self.last_error = str(err.cause or err)
                workflow.logger.warning("shipping to %s failed: %s", inp.destination, err)
                pause = PAUSE_AFTER_FAILURE
            self.woken = False
            try:  # new settings or a stop that came during the batch end the pause at once
                await workflow.wait_condition(
                    lambda: self.woken or self.stopping or self.new_settings is not None,
                    timeout=pause,
                )
            except TimeoutError:
                pass

    @workflow.signal
    def wake(self) -> None:
        """Ship now instead of at the next poll."""
        self.woken = True

    @workflow.signal
    def reconfigure(self, settings: ShipperSettings) -> None:
        """New settings from the worker, used from the next round on (carried across
        continue-as-new); undoes a ``stop`` not yet acted on."""
        if workflow.patched(SETTINGS_SIGNALS_PATCH):
            self.new_settings, self.stopping, self.woken = settings, False, True

    @workflow.signal
    def stop(self) -> None:
        """End after the current round: the destination is no longer configured."""
        if workflow.patched(SETTINGS_SIGNALS_PATCH):
            self.stopping, self.woken = True, True

    @workflow.query
    def status(self) -> dict[str, object]:
        return {
            "last": self.last.model_dump() if self.last else None,
            "last_error": self.last_error,
            "settings": ShipperSettings.model_validate(self.inp.model_dump()).model_dump()
            if self.inp
            else None,
        }
