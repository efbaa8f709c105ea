"""Staff sign-in for the JSON API (`/api/session`). Other sign-in routes sit next to it."""
