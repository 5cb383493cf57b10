"""Shared fixtures: a small raw dataset in the project schema.

``tests/fixtures/raw_small`` holds the five raw tables: a few real Kon Rẫy
and Đắk Hà figures (Báo Kon Tum 2021, the Đắk Hà portal and Nhân Dân) and
invented ones (sources ``S101``-``S103`` say so), chosen so that every
quality rule fires and nothing is rejected. Tests that need a broken input
corrupt their own copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

RAW_SMALL = Path(__file__).parent / "fixtures" / "raw_small"


@pytest.fixture
def small_raw(tmp_path) -> Path:
    """A private copy of ``tests/fixtures/raw_small`` that the test may change."""
    target = tmp_path / "raw"
    shutil.copytree(RAW_SMALL, target)
    return target


@pytest.fixture
def small_dataset(small_raw):
    """:func:`analysis.data.dataset.load_dataset` on :func:`small_raw`."""
    from analysis.data.dataset import load_dataset

    return load_dataset(small_raw)
