"""The registry's own copy of manufacturers' model disclosures (rule N1), fed from the inspection service's topic
(where data sharing records them): what an application's engine model and stage are compared with."""

from __future__ import annotations

from inspection import contracts as insp
from nrmm_kernel.projector import Projection, on

DISCLOSURES = "model_disclosures"


class ModelDisclosures(Projection):
    """One document per disclosed model (normalised brand|model); the latest disclosure answers."""

    name = DISCLOSURES
    contract = insp.events

    def doc_id(self, envelope) -> str:
        return envelope.streamid.removeprefix("disclosure-")

    @on(insp.ModelDisclosed)
    def disclosed(self, doc, event: insp.ModelDisclosed, envelope):
        return {"model_key": event.model_key, "manufacturer": event.manufacturer, "brand": event.brand,
                "model": event.model, "engine_model": event.engine_model, "emission_stage": event.emission_stage,
                "label_number": event.label_number, "disclosed_at": envelope.time.isoformat()}


def disclosure_projections() -> list[Projection]:
    return [ModelDisclosures()]
