"""The session loop, device faults and the real clock."""
