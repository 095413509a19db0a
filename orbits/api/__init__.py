"""REST API of the orbits app, one module per resource: TLEs, ground stations, passes, contact
plans, per-spacecraft geometry, conjunctions. The routes are in orbits/api_urls.py."""

from .conjunctions import ConjunctionViewSet
from .contacts import ContactPlanViewSet
from .geometry import FleetPositionsView, GroundTrackView, NextPassView, PositionView
from .passes import PassViewSet
from .stations import GroundStationViewSet
from .tles import TLEViewSet

__all__ = [
    "ConjunctionViewSet",
    "ContactPlanViewSet",
    "FleetPositionsView",
    "GroundStationViewSet",
    "GroundTrackView",
    "NextPassView",
    "PassViewSet",
    "PositionView",
    "TLEViewSet",
]
