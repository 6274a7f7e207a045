"""Evidence: bookmarks (saved filters), cases (pins with notes) and exports."""
