"""What the manager boards read: per-day rollups kept in step with every order change."""
