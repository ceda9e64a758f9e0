"""Socket.IO: the /chat namespace, the socket server, rooms across processes, presence, typing."""
