"""Test helpers shipped with GopherShip (fakes and conformance checks)."""
