"""A deterministic, realistic sample data home: reference data, the four feeds, commentary.

:func:`write_sample_home` writes it (see :mod:`oemkpi.sample.generate`). How the
numbers are made, all vectorised with numpy, one month at a time, module by module:

* :mod:`~oemkpi.sample.catalogue`: the fictional partners and the countries;
* :mod:`~oemkpi.sample.plan`: the checked arguments and the tunables;
* :mod:`~oemkpi.sample.cells`: monthly series per partner x country x segment,
  with the planted anomalies and the guards that keep everyone else clear;
* :mod:`~oemkpi.sample.skus`: the churning SKU catalogue of every cell;
* :mod:`~oemkpi.sample.months` and :mod:`~oemkpi.sample.tables`: each month's
  SKU units and the four feeds aggregated from them, so the feeds reconcile;
* :mod:`~oemkpi.sample.files`, :mod:`~oemkpi.sample.reference_files` and
  :mod:`~oemkpi.sample.commentary`: the files of the home.
"""

from oemkpi.sample.catalogue import COUNTRY_CATALOGUE, PARTNER_CATALOGUE
from oemkpi.sample.generate import SampleSummary, write_sample_home

__all__ = ["COUNTRY_CATALOGUE", "PARTNER_CATALOGUE", "SampleSummary", "write_sample_home"]
