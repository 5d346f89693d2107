"""What other services may rely on of the sites service: its published events (typed, with their upcasters) and
the registry of their types. Consumers import this module only."""

from .domain.events import (
    EntryRefused,
    MachineEntered,
    MachineExited,
    MachineFacts,
    MachineOnTwoSites,
    SiteRegistered,
    SiteStatusChanged,
    SiteUpdated,
    ZoneChanged,
    ZoneDefined,
    ZoneUse,
)
from .domain.events import registry as events
from .domain.model import GateColour, SiteDetails, SiteStatus

__all__ = [
    "EntryRefused", "GateColour", "MachineEntered", "MachineExited", "MachineFacts", "MachineOnTwoSites",
    "SiteDetails", "SiteRegistered", "SiteStatus", "SiteStatusChanged", "SiteUpdated", "ZoneChanged", "ZoneDefined",
    "ZoneUse", "events",
]
