"""The app's screens: pick a user, the conversation list, one conversation, help."""
