"""The pure site data: page views and tables, search, diagrams, docs and statistics, read from
a store; never imports Flask."""
