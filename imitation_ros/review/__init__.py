"""``imitation-ros review``: look at a dataset's episodes in a browser and mark them.

ROS-free. ``dataset`` computes what the page shows (metrics, flags, series, thumbnails) from a
LeRobot v3 dataset's files; ``server`` serves the page (``static/index.html``) and a JSON API
on loopback. Marks go to an edit file beside the dataset; ``imitation_ros.data.edits`` applies
them into a new dataset.
"""
