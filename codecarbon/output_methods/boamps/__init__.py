"""BoAmps reports: the output, the report's parts as typed objects, and the mapping from a run.

The names are where CodeCarbon 3.3.2's ``examples/boamps_output.py`` imports them from.
"""

from codecarbon.output_methods.boamps.mapper import DEFAULT_TASK, map_emissions_to_boamps
from codecarbon.output_methods.boamps.models import (
    Algorithm,
    BoAmpsAlgorithm,
    BoAmpsDataset,
    BoAmpsEnvironment,
    BoAmpsHardware,
    BoAmpsHeader,
    BoAmpsInfrastructure,
    BoAmpsMeasure,
    BoAmpsPublisher,
    BoAmpsReport,
    BoAmpsSoftware,
    BoAmpsSystem,
    BoAmpsTask,
    Dataset,
    Environment,
    Hardware,
    Header,
    Infrastructure,
    Measure,
    Publisher,
    Software,
    System,
    Task,
)
from codecarbon.output_methods.boamps.output import BoAmpsOutput

__all__ = [
    "BoAmpsOutput", "BoAmpsReport", "map_emissions_to_boamps", "DEFAULT_TASK",
    "BoAmpsHeader", "BoAmpsPublisher", "BoAmpsTask", "BoAmpsAlgorithm", "BoAmpsDataset", "BoAmpsMeasure",
    "BoAmpsSystem", "BoAmpsSoftware", "BoAmpsHardware", "BoAmpsInfrastructure", "BoAmpsEnvironment",
    "Header", "Publisher", "Task", "Algorithm", "Dataset", "Measure", "System", "Software", "Hardware",
    "Infrastructure", "Environment",
]
