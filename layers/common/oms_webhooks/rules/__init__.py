"""The rules: what happens to a hook or a delivery, written against the domain and the adapters."""
