"""Starting, checking and stopping the OVS/OVN daemons and ovnet services."""
