"""The performance plan as code: twenty scenarios and three correctness metrics, each measured
against a target."""
