"""Staff sign-in for the JSON API (`/api/session`) and its throttle. Other sign-in routes sit next to it."""
