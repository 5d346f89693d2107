"""Every filter and sort shape the services send is served by an index its collection declares (issue #15, point 1):
what holds MongoDB 7 (no server runs here) to index-backed lookups, from the shapes a real run sent.

Every client of the run (this process and each service it starts) records its shapes and the indexes it creates
(nrmm_kernel.query_shapes, switched on by tests/conftest.py); this test runs after all others (marker ``last``) and
judges them, with the checked-in baseline of a whole run added (tests/indexes/shapes.py says how to refresh it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nrmm_kernel.query_shapes import ENV
from tests.indexes import shapes


@pytest.mark.last
def test_every_query_shape_is_served_by_a_declared_index():
    recorded = Path(os.environ[ENV])
    indexes, queries = shapes.load([shapes.BASELINE, recorded])
    assert queries, "no shapes recorded: the baseline is missing"
    missing = shapes.unserved(indexes, queries)
    assert not missing, "query shapes no declared index serves:\n" + "\n".join(missing)


def test_the_judge_of_shapes():
    declared = {("district", "status"), ("codes",)}
    shape = {"collection": "c", "op": "find", "sort": [], "limited": False, "origin": "x"}
    assert shapes.served({**shape, "filter": {"_id": "eq"}}, declared)
    assert shapes.served({**shape, "filter": {"district": "eq", "late": "eq"}}, declared)
    assert shapes.served({**shape, "filter": {"codes": "in"}}, declared)
    assert not shapes.served({**shape, "filter": {"status": "eq"}}, declared)  # not a prefix
    assert not shapes.served({**shape, "filter": {"district": "ne"}}, declared)
    assert not shapes.served({**shape, "filter": {}}, declared)  # the whole collection
    assert shapes.served({**shape, "filter": {}, "limited": True, "sort": ["_id"]}, declared)
    assert shapes.served({**shape, "filter": {"late": "eq"}, "limited": True, "sort": ["codes", "_id"]}, declared)
    assert not shapes.served({**shape, "filter": {}, "limited": True, "sort": ["status"]}, declared)
    assert not shapes.served({**shape, "filter": {}, "sort": ["_id"]}, declared)  # to_list(n) sends no limit
    either = {"$or": [{"codes": "eq"}, {"district": "eq"}]}
    assert shapes.served({**shape, "filter": either}, declared)
    assert not shapes.served({**shape, "filter": {"$or": [{"codes": "eq"}, {"late": "eq"}]}}, declared)
