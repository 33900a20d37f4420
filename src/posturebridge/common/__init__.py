"""What every part shares: settings, database plumbing, TLS material, ids, clock and the service runner.

Nothing here knows a part's domain; parts depend on it, never the other way round.
"""
