"""Pure evaluation helpers: scoring, baselines, replay of the engine."""
