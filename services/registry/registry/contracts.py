"""What other services may rely on of the registry: its published events (typed, with their upcasters), the
registry of their types, and the status rules of a machine record. Consumers import this module only."""

from .domain.events import (
    ApplicationAmended,
    CodeCancelled,
    CodeIssued,
    CodeRejected,
    CodeRequested,
    ExternalMachineConfirmed,
    ExternalMachineDeclared,
    MachineInfoCorrected,
    OwnerChangeCancelled,
    OwnerChanged,
    OwnerChangeRequested,
    PersonErased,
    PlateReissued,
    PlateReissueRequested,
)
from .domain.events import registry as events
from .domain.status import IN_FORCE, Status, status_after

__all__ = [
    "ApplicationAmended", "CodeCancelled", "CodeIssued", "CodeRejected", "CodeRequested", "ExternalMachineConfirmed",
    "ExternalMachineDeclared", "IN_FORCE", "MachineInfoCorrected", "OwnerChangeCancelled", "OwnerChangeRequested",
    "OwnerChanged", "PersonErased", "PlateReissueRequested",
    "PlateReissued", "Status", "events", "status_after",
]
