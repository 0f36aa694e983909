"""Prefect's spellings of names: a deployment by its name alone, and did-you-mean among what is stored."""

from __future__ import annotations

import pytest

from deploytool.core.deployments import find
from deploytool.errors import DeploytoolError, NotFoundError
from deploytool.store import Store
from tests.core.helpers import add_deployment


def test_a_unique_deployment_name_needs_no_flow(store: Store) -> None:
    assert find(store, "daily").full_name == "etl/daily"


def test_a_name_several_flows_use_is_an_error_listing_them(store: Store) -> None:
    add_deployment(store, "daily", flow_name="report")
    with pytest.raises(DeploytoolError, match="used by 2 flows: etl/daily, report/daily") as info:
        find(store, "daily")
    assert not isinstance(info.value, NotFoundError)
    assert "FLOW/DEPLOYMENT" in (info.value.hint or "")


def test_mistyped_names_get_a_did_you_mean_among_stored_deployments(store: Store) -> None:
    add_deployment(store, "weekly", flow_name="report")
    with pytest.raises(NotFoundError) as info:
        find(store, "dialy")
    assert info.value.hint == "did you mean 'etl/daily'?"
    with pytest.raises(NotFoundError, match="deployment etl/dayly not found") as info:
        find(store, "etl/dayly")
    assert info.value.hint == "did you mean 'etl/daily'?"
    with pytest.raises(NotFoundError) as info:
        find(store, "reprt/weekly")
    assert info.value.hint == "did you mean 'report/weekly'?"
    with pytest.raises(NotFoundError, match="no deployment is named 'zzz'") as info:
        find(store, "zzz")
    assert "deploytool deployment ls" in (info.value.hint or "")
