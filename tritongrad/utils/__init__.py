"""tritongrad.utils: data loading helpers (tritongrad.utils.data)."""
