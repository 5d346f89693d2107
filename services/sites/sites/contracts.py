"""What other services may rely on of the sites service: its published events (typed, with their upcasters) and
the registry of their types. Consumers import this module only."""

from .domain.events import (
    EntryRefused,
    MachineEntered,
    MachineExited,
    MachineFacts,
    MachineOnTwoSites,
    SiteDepartmentConfirmed,
    SiteDepartmentDeclined,
    SiteRegistered,
    SiteStateOwnershipConfirmed,
    SiteStateOwnershipDeclared,
    SiteStateOwnershipDeclined,
    SiteStatusChanged,
    SiteUpdated,
    ZoneChanged,
    ZoneDefined,
    ZoneUse,
)
from .domain.events import registry as events
from .domain.model import CATEGORY_DEPARTMENT, GateColour, SiteDetails, SiteStatus, StateOwnership, competent_department

__all__ = [
    "CATEGORY_DEPARTMENT", "EntryRefused", "GateColour", "MachineEntered", "MachineExited", "MachineFacts",
    "MachineOnTwoSites", "SiteDepartmentConfirmed", "SiteDepartmentDeclined", "SiteDetails", "SiteRegistered",
    "SiteStateOwnershipConfirmed", "SiteStateOwnershipDeclared", "SiteStateOwnershipDeclined", "StateOwnership",
    "competent_department", "SiteStatus", "SiteStatusChanged", "SiteUpdated", "ZoneChanged", "ZoneDefined",
    "ZoneUse", "events",
]
