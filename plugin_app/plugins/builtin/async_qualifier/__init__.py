"""The AsyncQualifier system as a built-in plugin (plan phase 3): qualifiers, pools,
permalinks, races, scoring, leaderboards and reviews; their API, Discord commands and
scheduled tasks. Ported from legacy_app, answering exactly as it does.
See docs/plugins/ASYNC_QUALIFIER_PLUGIN.md."""
