"""Pass prediction for many spacecraft over many stations at once.

1. Each spacecraft is sampled on a grid whose step suits its orbit (`grid_step_s`: about 3 minutes in
   LEO, more for higher orbits): Earth-fixed position and velocity, one SatrecArray call per
   block of spacecraft that share a step. The grid reaches past the window by the longest pass
   the orbit can make (`padding_s`), so a pass in progress at either edge is found whole.
2. Per station, over the whole grid: the sign of f = sin(el) - sin(min el) and the sign of its
   time derivative (exact, from the velocity). Sign changes of f bracket AOS and LOS; df/dt
   going from + to - brackets a maximum, so a pass that rises and sets between two samples is
   found without any margin, and a dip below the threshold inside a pass likewise.
3. Between two samples the motion is the cubic Hermite interpolant of position and velocity,
   metres from SGP4 at these steps (`STEP_TOLERANCE_KM`), so no root needs SGP4 again: along a
   bracket d·up is a cubic and |d|² a sextic polynomial in time, and safeguarded Newton on them
   gives the maxima (TCA) and then AOS and LOS to a millisecond, all brackets at once.
4. A spacecraft still above the threshold at the grid's ends (GEO, a long MEO or Molniya pass)
   gives a `continuous` pass, cut at the window's edges.
5. An SGP4 error (decay, eccentricity out of range …) ends a spacecraft's prediction: the last
   valid time is found by bisection on SGP4 between the last valid and the first failed sample,
   its grid is cut there, and a pass in progress then ends there (`sgp4_end`). Nothing after
   it is predicted, and no NaN reaches a window.
"""

from .parallel import PARALLEL_MIN_PAIRS, predict_lines, prediction_lines
from .sampling import ROOT_TOLERANCE_S, STEP_TOLERANCE_KM, STEPS_S, grid_step_s, padding_s
from .scan import HIDDEN_MARGIN, LOW_HIDDEN_MARGIN, LOW_PERIGEE_KM
from .search import CLOSE_CALL, GRAZING_RATE_KM_S, LOOKAROUND_S, predict, prediction
from .windows import SGP4_ERROR_NAMES, PassWindow, Prediction, SGP4Failure, Station

__all__ = [
    "CLOSE_CALL",
    "GRAZING_RATE_KM_S",
    "HIDDEN_MARGIN",
    "LOOKAROUND_S",
    "LOW_HIDDEN_MARGIN",
    "LOW_PERIGEE_KM",
    "PARALLEL_MIN_PAIRS",
    "ROOT_TOLERANCE_S",
    "SGP4_ERROR_NAMES",
    "STEPS_S",
    "STEP_TOLERANCE_KM",
    "PassWindow",
    "Prediction",
    "SGP4Failure",
    "Station",
    "grid_step_s",
    "padding_s",
    "predict",
    "predict_lines",
    "prediction",
    "prediction_lines",
]
