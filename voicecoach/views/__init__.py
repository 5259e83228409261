"""Views: the view model, the terminal floor view and the web view."""
