from featureflow import Pipeline
from featureflow.io.columns import read_column
from featureflow.transforms import Bucketise, MinMax, Standardise


def test_minmax():
    assert MinMax().fit([2.0, 4.0]).apply([2.0, 3.0, 4.0]) == [0.0, 0.5, 1.0]


def test_standardise_has_zero_mean():
    out = Standardise().fit([1.0, 2.0, 3.0]).apply([1.0, 2.0, 3.0])
    assert abs(sum(out)) < 1e-12


def test_bucketise():
    assert Bucketise([10.0, 20.0]).apply([5.0, 10.0, 25.0]) == [0.0, 1.0, 2.0]


def test_pipeline_chains():
    pipe = Pipeline(MinMax(), Bucketise([0.5])).fit([0.0, 10.0])
    assert pipe.apply([2.0, 8.0]) == [0.0, 1.0]


def test_read_column():
    assert read_column("a,b\n1,2\n3,4\n", "b") == [2.0, 4.0]
