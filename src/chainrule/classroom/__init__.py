"""A class's work: per-student variants, the batch folder, the stress test, the Moodle export."""
