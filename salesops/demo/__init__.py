"""Demo data: a deterministic, messy sales data set in the real formats of salesops' sources.

`generate(out_dir, scale, seed)` writes Salesforce export CSVs, HubSpot API pages, mbox and
Maildir mail, web-form and touchpoint JSON lines; docs/demo-data.md is the format contract.
"""

from salesops.demo.generator import generate

__all__ = ["generate"]
