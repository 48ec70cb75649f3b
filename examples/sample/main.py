print("hello from a task")
