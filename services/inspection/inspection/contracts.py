"""What other services may rely on of the inspection service: its published events (typed, with their upcasters)
and the registry of their types. Consumers import this module only."""

from .domain.events import *  # noqa: F403 - the contract is every published event
from .domain.events import registry as _contract
from .domain.sharing_events import *  # noqa: F403 - data sharing's events (rules D5, N1, N2)
from .domain.special_equipment import model_key  # noqa: F401 - how a disclosure and a machine meet (rule N1)

events = _contract  # the inspection service's event registry, named as the other services' contracts name it
