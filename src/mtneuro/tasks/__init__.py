"""mtneuro.tasks"""
