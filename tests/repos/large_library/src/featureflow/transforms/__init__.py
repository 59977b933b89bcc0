from featureflow.transforms.bucket import Bucketise
from featureflow.transforms.scale import MinMax, Standardise

__all__ = ["Bucketise", "MinMax", "Standardise"]
