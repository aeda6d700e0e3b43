"""The un-migrated platform both apps stand on: settings, database, users, organizations,
members, Discord guilds, API tokens, authorization and the in-process event bus."""
