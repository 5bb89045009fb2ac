"""YAML column mappings for files exported by any CRM: the format, its canonical fields and the
value conversions. `connectors.mapped_file` reads files with them."""
