"""mtneuro.data"""
