"""The tournament system's services: tournaments and registrations, matches (schedule,
status, winner, seed), crew signups, and stream channels. Each checks access itself
(see `access`), so every entry point (HTTP, Discord, tasks) gets the same rules."""
