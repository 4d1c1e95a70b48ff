"""BoAmps reports: the output, the report's parts as typed objects, and the mapping from a run."""

from codecarbon.output_methods.boamps.mapper import DEFAULT_TASK, map_emissions_to_boamps
from codecarbon.output_methods.boamps.models import (
    Algorithm,
    BoAmpsReport,
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

BoAmpsHeader, BoAmpsPublisher, BoAmpsTask, BoAmpsAlgorithm, BoAmpsDataset = Header, Publisher, Task, Algorithm, Dataset
BoAmpsMeasure, BoAmpsSystem, BoAmpsSoftware, BoAmpsHardware = Measure, System, Software, Hardware
BoAmpsInfrastructure, BoAmpsEnvironment = Infrastructure, Environment

__all__ = [
    "BoAmpsOutput", "BoAmpsReport", "map_emissions_to_boamps", "DEFAULT_TASK",
    "Header", "Publisher", "Task", "Algorithm", "Dataset", "Measure", "System", "Software", "Hardware",
    "Infrastructure", "Environment",
    "BoAmpsHeader", "BoAmpsPublisher", "BoAmpsTask", "BoAmpsAlgorithm", "BoAmpsDataset", "BoAmpsMeasure",
    "BoAmpsSystem", "BoAmpsSoftware", "BoAmpsHardware", "BoAmpsInfrastructure", "BoAmpsEnvironment",
]
