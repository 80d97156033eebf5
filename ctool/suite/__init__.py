"""The performance plan as code: twenty scenarios, each measured against a target."""
