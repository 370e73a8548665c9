"""The resource model: datafiles, datasets and manifests, with tags, labels and filters.

Knows nothing of messaging, functions or the CLI; reaches cloud storage only through
``plait.cloud.storage``.
"""

from plait.resources.datafile import Datafile
from plait.resources.dataset import Dataset
from plait.resources.filter_containers import FilterDict, FilterList, FilterSet
from plait.resources.label import Label, LabelSet
from plait.resources.manifest import Manifest
from plait.resources.tag import TagDict

__all__ = ["Datafile", "Dataset", "FilterDict", "FilterList", "FilterSet", "Label", "LabelSet", "Manifest", "TagDict"]
