"""The EC2 instance catalogue: types, sizes, architectures and On-Demand prices per region."""

from services.rightsizing.catalogue.files import DEFAULT_PATH, load_catalogue, save_catalogue
from services.rightsizing.catalogue.model import Catalogue, InstanceType

__all__ = ["DEFAULT_PATH", "Catalogue", "InstanceType", "load_catalogue", "save_catalogue"]
