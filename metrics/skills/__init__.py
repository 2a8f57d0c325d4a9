"""Each skill's own validators, one module per skill (`VALIDATORS`), found by the skill's name."""
