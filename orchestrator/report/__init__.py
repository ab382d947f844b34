"""Reports: the context every renderer shares, the Jinja2 templates, atomic writes."""
