"""The domain: what hooks, deliveries, events, countdowns and signatures are. No AWS, no HTTP."""
