"""mtneuro.ssl"""
